/* Shim: AppleNeuralEngine.framework is private and ships no headers.  These declarations say
 * what docs/ane.md records each class answering to, for the messages anethru sends (the list in
 * csrc/ane/ane_msg.h).  The Linux check force-includes this file (-include) and compiles the ANE
 * sources with -Wundeclared-selector -Werror, so a misspelt selector is a compile error there,
 * not only a run-time failure in the simulated framework.
 *
 * Plain Objective-C on Foundation alone, so it works over Apple's SDK headers as well as over
 * GNUstep: IOSurfaceRef is spelt as the struct pointer it is (struct __IOSurface *), which
 * needs no IOSurface header here (a source that forgets its own #import still fails). */
#ifndef SHIM_APPLENEURALENGINE_H
#define SHIM_APPLENEURALENGINE_H
#import <Foundation/Foundation.h>

struct __IOSurface;

@interface _ANEInMemoryModelDescriptor : NSObject
+ (instancetype)modelWithMILText:(NSData *)milText
                         weights:(NSDictionary *)weights
                    optionsPlist:(id)optionsPlist;
@end

@interface _ANEInMemoryModel : NSObject
+ (instancetype)inMemoryModelWithDescriptor:(id)descriptor;
- (NSString *)hexStringIdentifier;
- (BOOL)compileWithQoS:(unsigned int)qos options:(NSDictionary *)options error:(NSError **)error;
- (BOOL)loadWithQoS:(unsigned int)qos options:(NSDictionary *)options error:(NSError **)error;
- (BOOL)evaluateWithQoS:(unsigned int)qos
                options:(NSDictionary *)options
                request:(id)request
                  error:(NSError **)error;
- (BOOL)unloadWithQoS:(unsigned int)qos error:(NSError **)error;
@end

@interface _ANEIOSurfaceObject : NSObject
+ (instancetype)objectWithIOSurface:(struct __IOSurface *)surface;
@end

@interface _ANERequest : NSObject
+ (instancetype)requestWithInputs:(NSArray *)inputs
                     inputIndices:(NSArray *)inputIndices
                          outputs:(NSArray *)outputs
                    outputIndices:(NSArray *)outputIndices
                    weightsBuffer:(id)weightsBuffer
                        perfStats:(id)perfStats
                   procedureIndex:(NSNumber *)procedureIndex;
@end

@interface _ANEClient : NSObject
+ (instancetype)sharedConnection;
- (instancetype)initWithRestrictedAccessAllowed:(BOOL)allowed;
- (BOOL)evaluateRealTimeWithModel:(id)model
                          options:(NSDictionary *)options
                          request:(id)request
                            error:(NSError **)error;
- (BOOL)doEvaluateDirectWithModel:(id)model
                          options:(NSDictionary *)options
                          request:(id)request
                              qos:(unsigned int)qos
                            error:(NSError **)error;
@end

#endif
